"""cstaserver/pbx"""
