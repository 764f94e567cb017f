// placeholder until the schedule adapter lands
export {};
