"""aftersales' pure domain: cases (types, a guarded lifecycle, deadlines) and the
policy that proposes a resolution. No I/O: every decision takes the facts and the
time it needs."""
