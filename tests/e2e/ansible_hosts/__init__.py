"""Throwaway systemd hosts for the Ansible end-to-end tests and bench/ansible_deploy.py."""
