"""Front-ends that talk to people and compute nothing of their own: the command line (cli), the page's
Python worker (web) and the client side of the cloud second opinion (cloud)."""
