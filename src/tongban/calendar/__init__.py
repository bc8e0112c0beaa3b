"""The working-day calendar in force: the ``chinesecalendar`` package plus imported years."""
