"""cstaserver/sip"""
