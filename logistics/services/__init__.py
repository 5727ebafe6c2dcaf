"""Writes of the logistics app (see each module): ``rules`` (templates, freight, default
couriers, status mappings), ``exports`` (shipping batches), ``imports`` (waybills and
statuses), ``remittance`` (COD reconciliation)."""
