"""Decoupling Lab: chapter 15 of Amazon Web Services in Action on one laptop."""
