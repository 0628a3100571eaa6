"""HTTP email providers, one small module each: build the payload, post it, read the results."""
