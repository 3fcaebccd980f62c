-- The recipient's language and time zone (issue 14: notifications' recipients projection reads
-- them from `user.updated` and from the admin users list). Both optional: NULL means not set.
ALTER TABLE users ADD COLUMN locale text CHECK (locale IS NULL OR length(locale) BETWEEN 2 AND 35);
ALTER TABLE users ADD COLUMN time_zone text CHECK (time_zone IS NULL OR length(time_zone) BETWEEN 1 AND 64);
-- The admin list pages through users in creation order.
CREATE INDEX users_created_idx ON users (created_at, id);
