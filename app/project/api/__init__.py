"""The JSON API's shared parts on Django REST Framework: auth, throttles, parsing, pagination, errors."""
