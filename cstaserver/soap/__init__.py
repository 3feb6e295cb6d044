"""cstaserver/soap"""
