"""acces"""
