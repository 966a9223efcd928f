"""The aggregator's day: settlement of what the services delivered, in a hash-chained ledger.

Plain numpy/pandas (a model package): it reads result columns and prices, never the EMS."""
