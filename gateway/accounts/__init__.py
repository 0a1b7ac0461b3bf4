"""What an account owns besides its messages: its phone numbers (and where their inbound messages
go) and its applications. Both are consulted by the outbound and the inbound flows."""
