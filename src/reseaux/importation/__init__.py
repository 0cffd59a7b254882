"""importation"""
