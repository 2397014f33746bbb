"""Phone sync: an inspector's offline working set and the changes to it since the phone's cursor."""
