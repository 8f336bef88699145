"""models/tiny"""
