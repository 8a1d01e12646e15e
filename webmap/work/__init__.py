"""The work of signed-in users: the risk map and its APIs, tiles, statistics and reports,
search, portfolio, uploads, task lists and the service ratings."""
