"""models/rank"""
