"""Tables of aftersales."""

from __future__ import annotations

import sqlalchemy as sa

from dropship_common.db import NAMING_CONVENTION
from dropship_common.parked import add_parked_events_table
from dropship_common.tables import add_common_tables

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
common = add_common_tables(metadata)
parked_events = add_parked_events_table(metadata)
