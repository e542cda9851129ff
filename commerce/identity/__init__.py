"""Who is calling: verified principals and the permission rules on them."""
