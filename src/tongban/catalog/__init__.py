"""The item catalogue (事项清单): data elements, service items and their versions."""
