"""The shop app: products and orders, homed on shop_db by configuration."""
