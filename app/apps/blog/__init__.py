"""The blog app: posts and comments, homed on blog_db by configuration."""
