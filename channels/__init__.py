"""One module per destination: how to deliver. See ``channels.base`` for the protocol."""
