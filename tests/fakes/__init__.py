"""In-memory stand-ins for the unit tier (``tests/gateway/units``): a store that keeps its tables
in dictionaries (:mod:`tests.fakes.store`, held to the SQLite store's behaviour by
``tests/gateway/store_contract``) and a clock the test moves (:mod:`tests.fakes.clock`); and the
records every tier's tests build, each field spelled out once (:mod:`tests.fakes.records`)."""
