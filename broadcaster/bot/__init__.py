"""``broadcaster bot run``: the Telegram bot people subscribe themselves with.

``runner`` builds python-telegram-bot's ``Application`` (the token hidden the way
``channels/telegram.py`` hides it) and runs it by long polling or behind a
webhook until SIGTERM or SIGINT; ``webhook`` is the aiohttp route Telegram
posts to; ``chat`` holds the commands; ``status`` the ``/status`` answer, cut to
the chat's visibility; ``pacing`` how often a chat may be answered.
"""
