"""cstaserver/admin"""
