-- Schema `content`: the movie catalog. Owned by catalog-admin; read by catalog-etl.
-- `modified` is maintained by triggers on every change; changes to a film's links touch the
-- film, and deletes leave a tombstone, so the ETL can find every change incrementally by
-- keyset on (modified, id) and (seq).

CREATE SCHEMA IF NOT EXISTS content;

CREATE TABLE content.film_work (
  id            uuid PRIMARY KEY,
  title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
  description   text,
  creation_date date,
  certificate   text,
  file_path     text,
  rating        double precision CHECK (rating >= 0 AND rating <= 10),
  type          text NOT NULL CHECK (type IN ('movie', 'tv_show')),
  created       timestamptz NOT NULL DEFAULT now(),
  modified      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE content.genre (
  id          uuid PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  description text,
  created     timestamptz NOT NULL DEFAULT now(),
  modified    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE content.person (
  id         uuid PRIMARY KEY,
  full_name  text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 300),
  birth_date date,
  created    timestamptz NOT NULL DEFAULT now(),
  modified   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE content.genre_film_work (
  id           uuid PRIMARY KEY,
  film_work_id uuid NOT NULL REFERENCES content.film_work (id) ON DELETE CASCADE,
  genre_id     uuid NOT NULL REFERENCES content.genre (id) ON DELETE CASCADE,
  created      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT genre_film_work_unique UNIQUE (film_work_id, genre_id)
);

CREATE TABLE content.person_film_work (
  id           uuid PRIMARY KEY,
  film_work_id uuid NOT NULL REFERENCES content.film_work (id) ON DELETE CASCADE,
  person_id    uuid NOT NULL REFERENCES content.person (id) ON DELETE CASCADE,
  role         text NOT NULL CHECK (role IN ('actor', 'director', 'writer')),
  created      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT person_film_work_unique UNIQUE (film_work_id, person_id, role)
);

-- Keyset scans of the ETL and the admin's sorted lists.
CREATE INDEX film_work_modified_id_idx ON content.film_work (modified, id);
CREATE INDEX genre_modified_id_idx ON content.genre (modified, id);
CREATE INDEX person_modified_id_idx ON content.person (modified, id);
CREATE INDEX film_work_title_idx ON content.film_work (lower(title));
CREATE INDEX film_work_rating_idx ON content.film_work (rating DESC NULLS LAST);
CREATE INDEX person_full_name_idx ON content.person (lower(full_name));
-- Reverse lookups: films of a genre / of a person.
CREATE INDEX genre_film_work_genre_idx ON content.genre_film_work (genre_id);
CREATE INDEX person_film_work_person_idx ON content.person_film_work (person_id);

-- Deleted rows, for the ETL to propagate deletes (seq is the keyset).
CREATE TABLE content.tombstone (
  seq        bigserial PRIMARY KEY,
  entity     text NOT NULL CHECK (entity IN ('film_work', 'genre', 'person')),
  id         uuid NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now()
);

-- modified = now() on every update (clock_timestamp so rows changed in one transaction still
-- get increasing values; ties are broken by id in the keyset anyway).
CREATE FUNCTION content.touch_modified() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.modified := clock_timestamp();
  RETURN NEW;
END $$;

CREATE TRIGGER film_work_touch BEFORE UPDATE ON content.film_work
  FOR EACH ROW EXECUTE FUNCTION content.touch_modified();
CREATE TRIGGER genre_touch BEFORE UPDATE ON content.genre
  FOR EACH ROW EXECUTE FUNCTION content.touch_modified();
CREATE TRIGGER person_touch BEFORE UPDATE ON content.person
  FOR EACH ROW EXECUTE FUNCTION content.touch_modified();

-- A link added or removed changes the film's document: touch the film.
CREATE FUNCTION content.touch_film_of_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE content.film_work SET modified = clock_timestamp()
   WHERE id = COALESCE(NEW.film_work_id, OLD.film_work_id);
  IF TG_OP = 'UPDATE' AND NEW.film_work_id IS DISTINCT FROM OLD.film_work_id THEN
    UPDATE content.film_work SET modified = clock_timestamp() WHERE id = OLD.film_work_id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER genre_film_work_touch AFTER INSERT OR UPDATE OR DELETE ON content.genre_film_work
  FOR EACH ROW EXECUTE FUNCTION content.touch_film_of_link();
CREATE TRIGGER person_film_work_touch AFTER INSERT OR UPDATE OR DELETE ON content.person_film_work
  FOR EACH ROW EXECUTE FUNCTION content.touch_film_of_link();

CREATE FUNCTION content.record_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO content.tombstone (entity, id) VALUES (TG_TABLE_NAME, OLD.id);
  RETURN NULL;
END $$;

CREATE TRIGGER film_work_tombstone AFTER DELETE ON content.film_work
  FOR EACH ROW EXECUTE FUNCTION content.record_tombstone();
CREATE TRIGGER genre_tombstone AFTER DELETE ON content.genre
  FOR EACH ROW EXECUTE FUNCTION content.record_tombstone();
CREATE TRIGGER person_tombstone AFTER DELETE ON content.person
  FOR EACH ROW EXECUTE FUNCTION content.record_tombstone();
