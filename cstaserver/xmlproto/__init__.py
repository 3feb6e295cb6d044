"""cstaserver/xmlproto"""
