"""Cases: opened by rules, operators and buyers; proposed by the policy; approved."""
