"""Organisation across levels and departments: jurisdictions, departments, application modules."""
