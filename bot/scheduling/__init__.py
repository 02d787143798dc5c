"""What patients type when booking: phone numbers, preferred times, names."""
