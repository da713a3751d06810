import {
  to = stateful_service.db
  id = "db"
}
