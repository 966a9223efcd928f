"""Product rules of the markets and programmes a fleet serves, as data: reserve products
(timing, baseline declaration, settlement baseline) and the CO2 command-level table.

One home that signals (which generate commands) and EMS services (which respond to them)
both import; settlement and payments of products belong next to them here.
"""
