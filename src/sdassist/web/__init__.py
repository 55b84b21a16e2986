"""The pages a person opens in a browser (sign-in, consent) and the authorization server's HTTP side: a face,
like Slack and MCP. Plain HTML and CSS rendered on the server; no JavaScript. Also the signed, expiring media
URLs SocialDock and Slack fetch attached files from (`media.py`)."""
