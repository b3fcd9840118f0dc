// Classes: constructors, methods (with `this`), getters, setters, fields and static blocks.
class Cart {
  static currency;
  static {
    Cart.currency = 'EUR';
  }
  items = [];

  constructor(owner) {
    this.owner = owner;
  }

  addItem(name, price) {
    this.items.push({ name, price });
    return this.items.length;
  }

  get total() {
    return this.items.reduce((sum, item) => sum + item.price, 0);
  }

  set discount(pct) {
    this.items = this.items.map((i) => ({ ...i, price: i.price * (1 - pct / 100) }));
  }
}

const cart = new Cart('ada');
cart.addItem('book', 12);
cart.addItem('pen', 3);
cart.discount = 10;
console.log(`${cart.owner} pays ${cart.total} ${Cart.currency}`);
