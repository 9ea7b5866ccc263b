"""Web servers that report their private IP: the backends of section 15.1."""
