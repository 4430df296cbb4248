"""The ensemble's scorers, one module per category (nudity, text, copyright, spam, violence)."""
