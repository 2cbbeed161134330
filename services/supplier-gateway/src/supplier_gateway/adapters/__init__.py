"""Outside systems a supplier order is placed with, one module per system (plugins by
adapter kind, as in Netflix Dispatch): :mod:`.base` says what every adapter does,
:mod:`.registry` finds the adapter of a supplier."""
