"""cstaserver/csta"""
