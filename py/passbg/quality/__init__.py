"""Quality checks of a finished cut-out: the scene they read, one module per family of checks
(edge_colour, edge_shape, inside, background, framing), the 0-100 score, and the report for the page.
The list of checks, their titles, thresholds and weights are data/checks.json's."""
