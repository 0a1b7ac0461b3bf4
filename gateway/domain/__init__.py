"""What a message is and what may happen to it: the records, the errors and the rules (statuses,
delivery reports, reassembly, prices, send errors, URL and number checks). Pure: no I/O, no
store, no HTTP; of the drivers only the codec (drivers.codec.pdu, drivers.codec.gsm7)."""
