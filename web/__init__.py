"""The aiohttp application, its routes and the command line."""
