"""The user's inbox: notifications, unread count, e-mail settings."""
