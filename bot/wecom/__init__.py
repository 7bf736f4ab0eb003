"""The WeCom transport: callback crypto, message parsing, the inbox and the aiohttp server."""
