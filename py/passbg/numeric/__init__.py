"""Numeric helpers with no domain knowledge: box filters, row strips, connected components and
morphology, colour maths. Pure numpy; the lowest layer of passbg (imports nothing else of it)."""
