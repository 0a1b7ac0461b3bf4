"""The codec of TS 23.038 and TS 23.040: pure, no I/O."""
