"""carte"""
