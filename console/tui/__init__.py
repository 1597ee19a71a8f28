"""The Textual console. Screens call service functions (in worker threads) and
render what they return; they never open a database session."""
