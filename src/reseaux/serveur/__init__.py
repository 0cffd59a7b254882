"""serveur"""
