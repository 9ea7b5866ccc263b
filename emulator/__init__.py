"""Decoupling Lab's local cloud: one process that plays AWS for chapter 15 on 127.0.0.1."""
